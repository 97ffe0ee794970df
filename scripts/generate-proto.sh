#!/usr/bin/env bash
# Regenerates Sources/OTLPProto/otlp_trace.pb.swift from Sources/OTLPProto/proto/otlp_trace.proto.
# Needs protoc (Debian protobuf-compiler) and protoc-gen-swift built from swift-protobuf 1.39.0
# (slow: ~10 min); the output is committed, so a normal build never runs this.
#   PROTOC_GEN_SWIFT=/path/to/protoc-gen-swift scripts/generate-proto.sh
set -euo pipefail
cd "$(dirname "$0")/.."
plugin=${PROTOC_GEN_SWIFT:?set PROTOC_GEN_SWIFT to a protoc-gen-swift binary}
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Public \
  -I Sources/OTLPProto/proto --swift_out=Sources/OTLPProto Sources/OTLPProto/proto/otlp_trace.proto
echo "generated Sources/OTLPProto/otlp_trace.pb.swift"
