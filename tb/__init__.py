"""systolic.tb"""
