"""Customers: the Customer type, createCustomer, updateCustomer and deleteCustomer."""
