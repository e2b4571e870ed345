CIM_FileSystemCIM_ComputerSystemn1/2000000000
