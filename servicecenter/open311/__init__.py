"""Open311 GeoReport v2 endpoint (/open311/v2/): defect reports from citizen apps such as FixMyStreet."""
