"""Simulation campaigns: thousands of XODs at parameters drawn from the prior, on Dask, into one resumable zarr store.

- :mod:`~xcosmo.campaign.config`: what a campaign is (:class:`CampaignConfig`) and the presets sized for the hardware;
- :mod:`~xcosmo.campaign.simulators`: the named simulators (the light-cone pipeline, the analytical model's draws);
- :mod:`~xcosmo.campaign.store`: the zarr store, written one simulation at a time;
- :mod:`~xcosmo.campaign.runner`: the driver that runs a store's pending simulations on a Dask cluster;
- :mod:`~xcosmo.campaign.export`: the finished simulations as an xarray Dataset (netCDF) for training.
"""

from xcosmo.campaign.config import CAMPAIGN_PRESETS, CampaignConfig, campaign_preset
from xcosmo.campaign.runner import run_campaign
from xcosmo.campaign.store import CampaignStore

__all__ = ["CampaignConfig", "CAMPAIGN_PRESETS", "campaign_preset", "run_campaign", "CampaignStore"]
