"""Building hot spots: hexagonal grids, counts and harm per cell, selection, stability.

>>> from rct.hotspots import build_hotspots, stability
>>> result = build_hotspots(crimes, cell=150, top=45, crime_types=["Violence and sexual offences"])
>>> print(result.headline())      # "45 hot spots: 2.6 % of the area of cells with crime, 41.0 % of crime"
"""

from __future__ import annotations

from rct.hotspots.build import HotspotResult, HotspotWarning, build_hotspots
from rct.hotspots.grid import HexGrid
from rct.hotspots.stability import StabilityResult, stability

__all__ = [
    "HexGrid",
    "HotspotResult",
    "HotspotWarning",
    "StabilityResult",
    "build_hotspots",
    "stability",
]

#: The same function under a name that reads well at the top level (``rct.hotspot_stability``).
hotspot_stability = stability
__all__.append("hotspot_stability")
