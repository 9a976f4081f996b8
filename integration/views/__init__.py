"""Pages of the integration app: held orders (CX) in `held`, mappings and re-check (ops) in
`mappings`. Thin: load with permission → call one action → redirect or render."""
