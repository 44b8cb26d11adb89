"""What ``flask seed`` loads: the reference data and, outside production, the demo clinic.

The work lives in ``reference_data`` (tracks, catalogue, activities, starter plans),
``demo_clinic`` (the fictional clinic, built through the services), ``demo_spec``
(what ``demo.toml`` describes) and ``seed_files`` (reading ``seed/*.toml``); this module keeps
the names the command line, the tests and the benchmark use.
"""

from clinic.services.demo_clinic import (
    DEMO_PASSWORDS,
    DemoLogin,
    DemoResult,
    check_demo_allowed,
    load_demo,
)
from clinic.services.demo_spec import read_demo_spec
from clinic.services.reference_data import load_reference
from clinic.services.seed_files import SEED_DIR, SeedError, seed_dir

__all__ = [
    "DEMO_PASSWORDS",
    "SEED_DIR",
    "DemoLogin",
    "DemoResult",
    "SeedError",
    "check_demo_allowed",
    "load_demo",
    "load_reference",
    "read_demo_spec",
    "seed_dir",
]
