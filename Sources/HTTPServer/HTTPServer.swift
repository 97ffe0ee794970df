// Module HTTPServer: see docs/architecture.md. Filled by later work.
