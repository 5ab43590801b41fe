"""fangkong (防控): a city's epidemic prevention and control platform."""

__version__ = "0.1.0"
