// Module Ledger: see ARCHITECTURE.md. Filled by later work.
