"""Calcium in common foods, per serving: the one table behind the dietary-calcium quick estimate.

Values are typical label values (US/EU nutrition labels and food-composition tables) for one usual serving; real
products vary, so an estimate from servings is an estimate. Add a food here and nowhere else.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType


@dataclass(frozen=True)
class Food:
    code: str
    name: str
    serving: str  # one serving, as the app shows it
    calcium_mg: Decimal  # elemental calcium per serving (typical label value)


_FOODS = (
    Food("milk", "Milk", "240 mL (1 cup)", Decimal("300")),
    Food("yogurt", "Yogurt", "170 g", Decimal("250")),
    Food("hard_cheese", "Hard cheese", "30 g", Decimal("200")),
    Food("fortified_plant_milk", "Fortified plant milk", "240 mL (1 cup)", Decimal("300")),
    Food("tofu_calcium_set", "Tofu (calcium-set)", "100 g", Decimal("350")),
    Food("sardines_with_bones", "Sardines with bones", "85 g", Decimal("325")),
    Food("almonds", "Almonds", "30 g", Decimal("75")),
    Food("broccoli", "Broccoli, cooked", "1 cup", Decimal("45")),
    Food("kale", "Kale, cooked", "1 cup", Decimal("100")),
    Food("fortified_orange_juice", "Fortified orange juice", "240 mL (1 cup)", Decimal("350")),
)

FOODS: Mapping[str, Food] = MappingProxyType({food.code: food for food in _FOODS})
FOOD_CHOICES: list[tuple[str, str]] = [(food.code, f"{food.name} ({food.serving})") for food in _FOODS]


def calcium_estimate(food: str, servings: Decimal) -> Decimal:
    """Milligrams of calcium in `servings` servings of `food` (a FOODS code), to one decimal place."""
    return (FOODS[food].calcium_mg * servings).quantize(Decimal("0.1"))
