"""What a calculator file (`content/calculators/<id>.yml`) may say: inputs, scoring, bands, examples."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from site_api.content.model import PageId, StrictModel, Text
from site_api.content.references import KEY_RE

Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
#: A key of the reference library (content/references.yml).
RefKey = Annotated[str, StringConstraints(pattern=f"^{KEY_RE.pattern}$")]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
#: The units a calculator may name: a closed list, so a typo (`mg/dl`, `umol/L`) fails the build.
Unit = Literal[
    "°C", "µg/L", "ng/mL", "mmol/L", "mg/dL", "g/L", "g/dL", "mg/L", "×10⁹/L", "×10³/µL", "U/L",
    "IU/L", "s",
]  # fmt: skip
KNOWN_UNITS: tuple[str, ...] = get_args(Unit)
#: An input's value, as an example gives it (YAML's yes/no arrive as booleans).
ExampleValue = bool | int | float | str


class Interval(StrictModel):
    """Part of a number line: lower edge `from` (≥) or `above` (>), upper `to` (≤) or `below` (<);
    a missing edge is the end of the allowed range."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: float | None = Field(default=None, alias="from")
    above: float | None = None
    to: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _one_edge_each_side(self) -> Interval:
        if self.from_ is not None and self.above is not None:
            raise ValueError("give `from` (≥) or `above` (>), not both")
        if self.to is not None and self.below is not None:
            raise ValueError("give `to` (≤) or `below` (<), not both")
        return self

    @property
    def lower(self) -> float | None:
        """The lower edge's value, whichever way it is written."""
        return self.from_ if self.from_ is not None else self.above

    @property
    def upper(self) -> float | None:
        """The upper edge's value, whichever way it is written."""
        return self.to if self.to is not None else self.below

    def holds(self, value: float) -> bool:
        """Whether `value` lies in this interval."""
        if self.from_ is not None and value < self.from_:
            return False
        if self.above is not None and value <= self.above:
            return False
        if self.to is not None and value > self.to:
            return False
        return not (self.below is not None and value >= self.below)

    def describe(self, unit: str = "") -> str:
        """`38.4 to 39.4 °C`, `below 38.4 °C`, `above 39.4 °C`: how a reader reads the band."""
        tail = f" {unit}" if unit else ""
        low = _number(self.lower) if self.lower is not None else None
        high = _number(self.upper) if self.upper is not None else None
        if low is None and high is None:
            return "any value"
        if low is None:
            return f"{'up to' if self.to is not None else 'below'} {high}{tail}"
        if high is None:
            return f"{'at least' if self.from_ is not None else 'above'} {low}{tail}"
        left = "from" if self.from_ is not None else "above"
        right = "to" if self.to is not None else "below"
        return f"{left} {low} {right} {high}{tail}"


def _number(value: float) -> str:
    """A number as an editor wrote it: 38.4, 2000, not 2000.0."""
    return str(int(value)) if float(value).is_integer() else repr(value)


class NumberBand(Interval):
    """Points for a measured value in this interval."""

    points: int
    id: Key | None = None  # named when another input's `when` refers to it


class OtherUnit(StrictModel):
    """A unit readers may enter instead: its value in the input's own unit is entered × `multiply`
    or entered ÷ `divide` (one of them; both evaluations do exactly that one operation)."""

    unit: Unit
    multiply: float | None = Field(default=None, gt=0)
    divide: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_factor(self) -> OtherUnit:
        if (self.multiply is None) == (self.divide is None):
            raise ValueError("give exactly one of `multiply` or `divide`")
        return self


def _yes_no_words(value: object) -> object:
    """YAML reads a bare yes or no as a boolean: in a `when` list it means the answer."""
    if isinstance(value, dict):
        return {
            k: [("yes" if v else "no") if isinstance(v, bool) else v for v in vs]
            if isinstance(vs, list)
            else vs
            for k, vs in value.items()
        }
    return value


Condition = Annotated[
    dict[Key, Annotated[list[Key], Field(min_length=1)]], BeforeValidator(_yes_no_words)
]


class _InputBase(StrictModel):
    id: Key
    label: Short
    hint: Short | None = None
    # Count this input's points only when each named input's answer (choice, yes/no, or number
    # band id) is one of those listed; otherwise it scores 0.
    when: Condition | None = None


class NumberInput(_InputBase):
    """A measured value with its unit, allowed range and points per band."""

    type: Literal["number"]
    unit: Unit  # the unit the bands and range are written in (as the source states them)
    min: float
    max: float
    other_units: list[OtherUnit] = Field(default_factory=list)
    first_unit: Unit | None = None  # the unit the form offers first (SI for UK readers)
    bands: Annotated[list[NumberBand], Field(min_length=1)]

    @model_validator(mode="after")
    def _range_and_units(self) -> NumberInput:
        if self.min >= self.max:
            raise ValueError(f"max: must be above min ({_number(self.min)})")
        units = self.units
        if len(set(units)) != len(units):
            raise ValueError("other_units: a unit is listed twice (or repeats `unit`)")
        if self.first_unit is not None and self.first_unit not in units:
            raise ValueError(f"first_unit: '{self.first_unit}' is not one of {', '.join(units)}")
        return self

    @property
    def units(self) -> list[str]:
        """Every unit a reader may enter, the input's own first."""
        return [self.unit, *(u.unit for u in self.other_units)]

    @property
    def offered(self) -> list[str]:
        """The units in the order the form offers them."""
        first = self.first_unit or self.unit
        return [first, *(u for u in self.units if u != first)]


class Choice(StrictModel):
    """One answer of a choice input."""

    value: Key
    label: Short
    points: int


class ChoiceInput(_InputBase):
    """One answer from a list."""

    type: Literal["choice"]
    choices: Annotated[list[Choice], Field(min_length=2)]


class YesNoInput(_InputBase):
    """A finding present or absent."""

    type: Literal["yesno"]
    points_if_yes: int
    points_if_no: int = 0


Input = Annotated[NumberInput | ChoiceInput | YesNoInput, Field(discriminator="type")]


class ResultBand(Interval):
    """What a score in this interval means: a short label and the wording readers see."""

    id: Key
    label: Short
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=600)]


class Example(StrictModel):
    """A worked example: inputs (in the input's own unit unless `units` says) and the result."""

    name: Short
    inputs: dict[Key, ExampleValue]
    units: dict[Key, Unit] = Field(default_factory=dict)
    score: int
    band: Key


class Calculator(StrictModel):
    """One calculator file."""

    id: PageId
    title: Text
    short_title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]
    summary: Short
    for_whom: Short
    aliases: list[Text] = Field(default_factory=list)
    method: Literal["sum", "max"]  # add the inputs' points, or take the highest (a grade)
    result_label: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]
    inputs: Annotated[list[Input], Field(min_length=1)]
    bands: Annotated[list[ResultBand], Field(min_length=1)]
    references: Annotated[list[RefKey], Field(min_length=1)]  # keys of content/references.yml
    notes: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]] = Field(
        default_factory=list
    )
    examples: Annotated[list[Example], Field(min_length=1)]

    def input(self, key: str) -> NumberInput | ChoiceInput | YesNoInput | None:
        """The input with this id, if any."""
        return next((i for i in self.inputs if i.id == key), None)

    def band(self, key: str) -> ResultBand | None:
        """The result band with this id, if any."""
        return next((b for b in self.bands if b.id == key), None)
