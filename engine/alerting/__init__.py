"""Alert handling: lifecycle, silences, maintenance, inhibition."""
