CIM_FileSystemCIM_ComputerSystemn1/1000000000
