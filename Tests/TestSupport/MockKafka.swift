import Kafka
import Logging

extension MockKafkaCluster {
    /// librdkafka's mock cluster of `brokers` in this process, with `topic` (`partitions`) created
    /// before it returns.
    public static func withTopic(_ topic: String, partitions: Int, brokers: Int = 1, logger: Logger) throws -> MockKafkaCluster {
        let cluster = try MockKafkaCluster(brokers: brokers, logger: logger)
        try cluster.createTopic(topic, partitions: partitions)
        return cluster
    }

    /// A producer to this cluster with `properties` (librdkafka's defaults otherwise).
    public func producer(
        properties: [String: String] = [:], keepsFailedRecords: Bool = false, logger: Logger
    ) throws -> KafkaProducer {
        try KafkaProducer(
            configuration: KafkaProducerConfiguration(
                bootstrapServers: bootstrapServers, properties: properties, keepsFailedRecords: keepsFailedRecords),
            logger: logger)
    }
}
