"""Developer tools, not the engine: the district generator, the churn tool and the
benchmark, with their commands (generate_district, bench_sync, setup_demo)."""
