CIM_FileSystemCIM_ComputerSystemn1/
