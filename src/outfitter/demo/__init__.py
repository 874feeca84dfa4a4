"""The offline demo: the shipped demo catalogue (`data/`, CC0 photos) and the job that indexes and queries it."""

from outfitter.demo.run import demo_catalog, demo_data, demo_done, run_demo, show_complementary

__all__ = ["demo_catalog", "demo_data", "demo_done", "run_demo", "show_complementary"]
