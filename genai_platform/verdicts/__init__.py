"""The platform's verdicts: thresholds that judge a finding, and the gate that judges a challenger."""
