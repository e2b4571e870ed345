// The inventory module.
