/// The version of cimdb's commands (`cimdb --version`, the agent's heartbeat).
public let cimdbVersion = "0.1.0"
