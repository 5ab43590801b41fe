"""The synthetic demo city (`fangkong demo`): on Yingkou's map, through the same services as real data."""
