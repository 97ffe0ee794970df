// Module Kafka: see ARCHITECTURE.md. Filled by later work.
