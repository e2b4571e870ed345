#!/bin/bash
# CIM_HostedFileSystem: the node hosts each of its file systems.
set -f
system=$(cimdb_path CIM_ComputerSystem CreationClassName=CIM_ComputerSystem Name="$CIMDB_NODE")
cimdb_instance_cache Disk.Name | while IFS= read -r name; do
    fs=$(cimdb_path CIM_FileSystem CreationClassName=CIM_FileSystem CSCreationClassName=CIM_ComputerSystem CSName="$CIMDB_NODE" Name="$name")
    cimdb_path CIM_HostedFileSystem GroupComponent="$system" PartComponent="$fs"
done
