"""Linear units: each unit is (dimension, factor to the dimension's base unit)."""

UNITS = {
    # length, base: metre
    "mm": ("length", 0.001),
    "cm": ("length", 0.01),
    "m": ("length", 1.0),
    "km": ("length", 1000.0),
    "in": ("length", 0.0254),
    "ft": ("length", 0.3048),
    "yd": ("length", 0.9144),
    "mi": ("length", 1609.344),
    # mass, base: kilogram
    "mg": ("mass", 1e-6),
    "g": ("mass", 0.001),
    "kg": ("mass", 1.0),
    "t": ("mass", 1000.0),
    "oz": ("mass", 0.028349523125),
    "lb": ("mass", 0.45359237),
    # time, base: second
    "ms": ("time", 0.001),
    "s": ("time", 1.0),
    "min": ("time", 60.0),
    "h": ("time", 3600.0),
    "d": ("time", 86400.0),
    # volume, base: litre
    "ml": ("volume", 0.001),
    "l": ("volume", 1.0),
    "gal": ("volume", 3.785411784),
    "cup": ("volume", 0.2365882365),
}

ALIASES = {
    "metre": "m",
    "meter": "m",
    "meters": "m",
    "kilometre": "km",
    "kilometer": "km",
    "mile": "mi",
    "miles": "mi",
    "inch": "in",
    "foot": "ft",
    "feet": "ft",
    "gram": "g",
    "grams": "g",
    "kilogram": "kg",
    "pound": "lb",
    "pounds": "lb",
    "lbs": "lb",
    "ounce": "oz",
    "second": "s",
    "sec": "s",
    "minute": "min",
    "hour": "h",
    "hr": "h",
    "day": "d",
    "litre": "l",
    "liter": "l",
    "L": "l",
    "gallon": "gal",
    "celsius": "C",
    "degC": "C",
    "°C": "C",
    "fahrenheit": "F",
    "degF": "F",
    "°F": "F",
    "kelvin": "K",
}

TEMPERATURE_UNITS = ("C", "F", "K")


def canonical(unit):
    """Resolve aliases: 'feet' -> 'ft', 'degC' -> 'C'. Unknown units are returned unchanged."""
    unit = unit.strip()
    return ALIASES.get(unit, ALIASES.get(unit.lower(), unit))


def dimension_of(unit):
    unit = canonical(unit)
    if unit in TEMPERATURE_UNITS:
        return "temperature"
    if unit in UNITS:
        return UNITS[unit][0]
    raise KeyError(unit)
