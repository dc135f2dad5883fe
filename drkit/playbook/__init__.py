"""The playbook language: a pure model, loading with source positions, variables, validation and JSON Schema.

Nothing here performs I/O beyond reading the playbook file; step kinds hand their field schemas in, so this
package never imports the steps that use it.
"""
