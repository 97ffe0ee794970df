// Module LoadGen: see ARCHITECTURE.md. Filled by later work.
