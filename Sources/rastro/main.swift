print("rastro")
