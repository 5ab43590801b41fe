"""Venues, place codes (场所码), check-ins (扫码登记), occupancy and retention."""
