// Module Budgets: see docs/architecture.md. Filled by later work.
