"""Locust entry point: the users of the run's plan and the shape of its scenario.

Started by `scripts/loadtest` with PULSE_LOADTEST_PLAN pointing at the run's plan.json. Locust
runs every User class and the shape it finds in this module's namespace, so only the chosen
scenario's shape and the user classes the plan asks for are put there.
"""

from loadtests import users
from loadtests.shapes import shape_for

ScenarioShape = shape_for(users.PLAN)

OpeningShopper = users.OpeningShopper
# Exact numbers of browsers and staff; opening shoppers are the rest of the shape's users.
if users.PLAN.load.browsers:
    BrowsingShopper = users.BrowsingShopper
    BrowsingShopper.fixed_count = users.PLAN.load.browsers
if users.PLAN.load.staff:
    MarketingStaff = users.MarketingStaff
    MarketingStaff.fixed_count = users.PLAN.load.staff
