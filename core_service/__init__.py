"""core_service: owns campaigns, activities and event definitions; consumes and stores events."""
