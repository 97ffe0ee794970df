// Module Budgets: see ARCHITECTURE.md. Filled by later work.
