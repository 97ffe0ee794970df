// Module OTLPProto: see ARCHITECTURE.md. Filled by later work.
