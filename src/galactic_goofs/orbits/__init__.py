"""The fleet in space: element sets (TLE, OMM), propagation, ground stations and passes."""
