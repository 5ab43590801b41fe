"""Policy editions (防控方案): the versioned rules that decide colors, quarantine durations and tracing values, as
data (TOML files citing their sources), the edition in force, and switching it. Below every domain that reads it."""
