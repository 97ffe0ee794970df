// Module Aggregation: see ARCHITECTURE.md. Filled by later work.
