"""The region tree (city → district → street → community → grid) and households."""
