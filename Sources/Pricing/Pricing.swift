// Module Pricing: see ARCHITECTURE.md. Filled by later work.
