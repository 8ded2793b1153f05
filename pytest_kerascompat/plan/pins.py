"""Known-good pins: what old releases need when they are resolved today.

A fresh resolve of an old TensorFlow picks today's NumPy and protobuf, which break
it at import. The sweep applies these pins itself, shows them in the report, and
lets the user turn them off (``pins: false`` in ``matrix.yaml`` or ``--keras-no-pins``).
"""

from __future__ import annotations

import dataclasses

from packaging.specifiers import SpecifierSet
from packaging.version import Version


@dataclasses.dataclass(frozen=True)
class Pin:
    """Add ``requirement`` when ``package`` resolves to a version in ``affected``."""

    package: str
    affected: SpecifierSet
    requirement: str
    reason: str

    def applies_to(self, versions: dict[str, Version]) -> bool:
        version = versions.get(self.package)
        return version is not None and self.affected.contains(version, prereleases=True)


KNOWN_GOOD_PINS: tuple[Pin, ...] = (
    Pin(
        "tensorflow",
        SpecifierSet("<2.12"),
        "numpy<2",
        "TensorFlow before 2.12 fails to import under NumPy 2 ('Unable to convert function "
        "return value to a Python type')",
    ),
    Pin(
        "tensorflow",
        SpecifierSet("<2.9"),
        "protobuf<3.21",
        "TensorFlow before 2.9 fails to import under protobuf 4 ('Descriptors cannot be "
        "created directly')",
    ),
    Pin(
        "keras",
        SpecifierSet("<2.4"),
        "h5py<3",
        "standalone Keras before 2.4 cannot read models saved by h5py 3",
    ),
)


def pins_for(versions: dict[str, Version]) -> tuple[Pin, ...]:
    """The pins that apply to the versions a cell is expected to resolve to."""
    return tuple(pin for pin in KNOWN_GOOD_PINS if pin.applies_to(versions))
