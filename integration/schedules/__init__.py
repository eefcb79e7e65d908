"""docs/business-steps.md#2-wem-schedule-import: importing committed agent schedules from a WEM system (docs/spec.md#24-post-apischedulesimport)."""
