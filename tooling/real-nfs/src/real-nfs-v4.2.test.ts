import { defineSuitesInVm } from './suites-in-vm.js';

defineSuitesInVm('4.2');
