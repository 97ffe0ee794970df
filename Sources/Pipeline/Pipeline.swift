// Module Pipeline: see ARCHITECTURE.md. Filled by later work.
