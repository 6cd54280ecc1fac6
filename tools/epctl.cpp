// epctl.cpp: (stub)
int main() { return 0; }
