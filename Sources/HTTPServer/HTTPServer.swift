// Module HTTPServer: see ARCHITECTURE.md. Filled by later work.
