"""X-ray emission of hot gas and the XMM-Newton EPIC response (paper sections 2.3 and 4.1)."""
