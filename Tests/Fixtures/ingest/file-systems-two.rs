CIM_FileSystemCIM_ComputerSystemn1/
CIM_FileSystemCIM_ComputerSystemn1/data
