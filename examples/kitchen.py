"""A kitchen where two cooks share one set of utensils.

Every step of a recipe is one behavior over the cook, the dish and the
utensils it needs. A cook does one thing at a time (the cook is a cown), a
dish goes through its steps in recipe order (the dish is a cown), and a
utensil is in one cook's hands at a time (each utensil is a cown). Nobody
locks anything by hand, and the shared knife passes between the cooks in the
order the steps were scheduled.

    python examples/kitchen.py
"""

import argparse

from bocd import Cown, quiesce, wait, when


class Cook:
    """A cook who remembers what they did."""

    def __init__(self, name: str):
        """Hire a cook."""
        self.name = name
        self.done = []


class Utensil:
    """A utensil that remembers who used it, in order."""

    def __init__(self, name: str):
        """Put a utensil in the drawer."""
        self.name = name
        self.users = []


class Dish:
    """A dish and the steps it went through, in order."""

    def __init__(self, name: str):
        """Start a dish."""
        self.name = name
        self.steps = []


RECIPES = {
    "salad": [("chop", "tomato", ("knife", "board")),
              ("chop", "cucumber", ("knife", "board")),
              ("toss", "salad", ("bowl",))],
    "omelette": [("dice", "onion", ("knife", "board")),
                 ("beat", "eggs", ("whisk", "bowl")),
                 ("fry", "omelette", ("pan",))],
}


def do_step(cook: Cown, dish: Cown, tools: list, action: str, item: str):
    """Schedule one recipe step; it runs once cook, dish and tools are free."""
    @when(cook, dish, tools)
    def step(cook: Cown, dish: Cown, tools: list, action=action, item=item):
        for tool in tools:
            tool.value.users.append(cook.value.name)
        cook.value.done.append(f"{action} {item}")
        dish.value.steps.append(f"{action} {item}")


def main():
    """Let two cooks prepare a salad and an omelette with shared utensils."""
    argparse.ArgumentParser("Kitchen").parse_args()

    names = {name for steps in RECIPES.values() for *_, tools in steps
             for name in tools}
    utensils = {name: Cown(Utensil(name)) for name in sorted(names)}
    cooks = {"salad": Cown(Cook("Ana")), "omelette": Cown(Cook("Ben"))}
    dishes = {name: Cown(Dish(name)) for name in RECIPES}

    # Interleave the two recipes, as two cooks working side by side would.
    for round_steps in zip(*RECIPES.values()):
        for dish_name, (action, item, tools) in zip(RECIPES, round_steps):
            do_step(cooks[dish_name], dishes[dish_name],
                    [utensils[t] for t in tools], action, item)

    quiesce()
    served = []
    for name, dish in dishes.items():
        with dish as d:
            expected = [f"{a} {i}" for a, i, _ in RECIPES[name]]
            print(f"{name}: {', '.join(d.steps)}")
            if d.steps == expected:
                served.append(name)
    for name, utensil in utensils.items():
        with utensil as u:
            print(f"{name} used by {', '.join(u.users)}")
    with utensils["knife"] as knife:
        knife_users = knife.users
    wait()

    if len(served) != len(RECIPES):
        print(f"only {served} came out right")
        raise SystemExit(1)
    print(f"{' and '.join(served)} served; knife passed {' -> '.join(knife_users)}")


if __name__ == "__main__":
    main()
