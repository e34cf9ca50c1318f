"""Training samples of the eLDL painter: readers of CAMELS data (:mod:`emulators.data.camels`)."""
