// The generated Swift types of the default model appear here (swift run cimdb-generate).
