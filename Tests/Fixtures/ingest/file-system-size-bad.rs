CIM_FileSystemCIM_ComputerSystemn1/2 GB
CIM_FileSystemn1
