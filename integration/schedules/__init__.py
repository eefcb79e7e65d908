"""Seed 001: importing committed agent schedules from a WEM system (CONTRACT §2.4)."""
